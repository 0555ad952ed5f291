"""Registry tables: stations, homes, residents, gateways, devices, users, family links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UTCDateTime


class Role(StrEnum):
    """What a person does in Anxin; decides what they may see (DESIGN.md, Who uses it)."""

    ADMIN = "admin"
    MANAGER = "manager"  # station manager
    STAFF = "staff"  # care-station staff on duty (值班人员)
    FAMILY = "family"  # 家属
    INSTALLER = "installer"  # 安装人员


class Station(Base):
    """A care station (养老服务驿站) watching over the homes of its neighbourhood."""

    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    homes: Mapped[list[Home]] = relationship(back_populates="station")


class Home(Base):
    """A home with its sensors and gateway."""

    __tablename__ = "homes"
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400), default="")
    station: Mapped[Station] = relationship(back_populates="homes")
    residents: Mapped[list[Resident]] = relationship(back_populates="home")
    gateways: Mapped[list[Gateway]] = relationship(back_populates="home")


class Resident(Base):
    """An older person living at home; risk flags are comma-separated keys (alone, aged, ...)."""

    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(default=None)
    risk_flags: Mapped[str] = mapped_column(String(200), default="")
    care_level: Mapped[str] = mapped_column(String(32), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    usual_getup: Mapped[str] = mapped_column(String(5), default="", server_default="")  # HH:MM
    # how closely the routine detectors watch: close | standard | relaxed (alerts.routine.baseline)
    watch: Mapped[str] = mapped_column(String(16), default="standard", server_default="standard")
    home: Mapped[Home] = relationship(back_populates="residents")


class Gateway(Base):
    """A home's gateway; ``id`` is its MQTT username, client id and topic level."""

    __tablename__ = "gateways"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    home_id: Mapped[int | None] = mapped_column(ForeignKey("homes.id"), index=True, default=None)
    secret_hash: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    home: Mapped[Home | None] = relationship(back_populates="gateways")
    devices: Mapped[list[Device]] = relationship(back_populates="gateway")


class Device(Base):
    """A paired device behind a gateway; ``key`` is its id on the wire (unique per gateway)."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("gateway_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # devices.catalog.DEVICE_KINDS key
    room: Mapped[str] = mapped_column(String(32), default="")
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), default=None)
    gateway: Mapped[Gateway] = relationship(back_populates="devices")


class User(Base):
    """A person who logs in; station staff and managers belong to one station."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))  # Role
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), default=None)
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    phone: Mapped[str] = mapped_column(String(32), default="")
    notify_url: Mapped[str] = mapped_column(String(400), default="")  # apprise URL
    # False: the person left; they cannot log in and their sessions and tokens stop working
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class FamilyLink(Base):
    """A family member linked to a resident they may see."""

    __tablename__ = "family_links"
    __table_args__ = (Index("ix_family_links_resident", "resident_id"),)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(32), default="")

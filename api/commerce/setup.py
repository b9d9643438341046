"""Builds issue 5's services (shop, creator tools, safety, AI) onto the application; called by ``create_app``."""

from __future__ import annotations

from aiohttp import web

from api.commerce.cart import Cart
from api.commerce.coupons import Coupons
from api.commerce.orders import Orders
from api.commerce.products import Catalog
from api.config import Settings
from api.state import CART, CATALOG, COUPONS, ORDERS
from store.database import Database


def install(app: web.Application, settings: Settings, db: Database) -> None:
    coupons = Coupons(db)
    app[COUPONS] = coupons
    app[CATALOG] = Catalog(db)
    app[CART] = Cart(db)
    app[ORDERS] = Orders(db, coupons)

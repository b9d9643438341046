"""``/api/products``, ``/api/cart``, ``/api/coupons``, ``/api/orders``: the seed's shop endpoints."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from api.commerce.cart import load_lines, priced
from api.commerce.models import (
    CartAdd,
    CartRemove,
    CartUpdate,
    CartView,
    Coupon,
    CouponCheck,
    CouponCreate,
    CouponValidate,
    Order,
    OrderCreate,
    OrderQuery,
    Product,
    ProductCreate,
    ProductQuery,
    ProductSearch,
    ProductUpdate,
    ShipRequest,
)
from api.commerce.orders import OrderStatus
from api.models import Page, PageQuery, QueryModel, ResponseModel
from api.problems import Conflict
from api.routing import Access, Routes, optional_principal, principal
from api.state import CART, CATALOG, COUPONS, DATABASE, ORDERS

routes = Routes()
SHOP = ("shop",)


class FeaturedQuery(QueryModel):
    limit: int = Field(12, ge=1, le=50)


class ProductList(ResponseModel):
    items: list[Product]


# Products ------------------------------------------------------------------------------------------------


@routes.get("/api/products", query=ProductQuery, response=Page[Product], access=Access.PUBLIC, tags=SHOP)
async def list_products(request: web.Request, query: ProductQuery) -> Page[Product]:
    """Products for sale, newest first; filter by seller or category."""
    return await request.app[CATALOG].browse(query.limit, query.cursor, query.seller_id, query.category)


@routes.get("/api/products/featured", query=FeaturedQuery, response=ProductList, access=Access.PUBLIC, tags=SHOP)
async def featured_products(request: web.Request, query: FeaturedQuery) -> ProductList:
    """Featured products, then best sellers in stock."""
    return ProductList(items=await request.app[CATALOG].featured(query.limit))


@routes.get("/api/products/search", query=ProductSearch, response=Page[Product], access=Access.PUBLIC, tags=SHOP)
async def search_products(request: web.Request, query: ProductSearch) -> Page[Product]:
    """Products whose title, description or category contains the words."""
    return await request.app[CATALOG].search(query.q, query.limit, query.cursor)


@routes.get("/api/products/{product_id}", response=Product, access=Access.PUBLIC, tags=SHOP, errors=(404,))
async def get_product(request: web.Request) -> Product:
    """One product."""
    return await request.app[CATALOG].get(request.match_info["product_id"], optional_principal(request))


@routes.post("/api/products", body=ProductCreate, response=Product, status=201, access=Access.CREATOR, tags=SHOP)
async def create_product(request: web.Request, body: ProductCreate) -> Product:
    """List a product for sale (creators)."""
    return await request.app[CATALOG].create(principal(request), body)


@routes.put(
    "/api/products/{product_id}",
    body=ProductUpdate,
    response=Product,
    access=Access.CREATOR,
    tags=SHOP,
    errors=(403, 404),
)
async def update_product(request: web.Request, body: ProductUpdate) -> Product:
    """Edit a product: price, stock, text, or archive it."""
    return await request.app[CATALOG].update(principal(request), request.match_info["product_id"], body)


# Cart ----------------------------------------------------------------------------------------------------


@routes.get("/api/cart", response=CartView, tags=SHOP)
async def get_cart(request: web.Request) -> CartView:
    """The caller's cart, with each line's availability."""
    return await request.app[CART].view(principal(request).user_id)


@routes.post("/api/cart/add", body=CartAdd, response=CartView, tags=SHOP, errors=(404, 409))
async def add_to_cart(request: web.Request, body: CartAdd) -> CartView:
    """Add a quantity of a product to the cart."""
    return await request.app[CART].add(principal(request).user_id, body.product_id, body.quantity)


@routes.put("/api/cart/update", body=CartUpdate, response=CartView, tags=SHOP, errors=(404, 409))
async def update_cart(request: web.Request, body: CartUpdate) -> CartView:
    """Set the quantity of a cart line."""
    return await request.app[CART].update(principal(request).user_id, body.product_id, body.quantity)


@routes.delete("/api/cart/remove", query=CartRemove, response=CartView, tags=SHOP, errors=(404,))
async def remove_from_cart(request: web.Request, query: CartRemove) -> CartView:
    """Remove a product from the cart (``?product_id=``)."""
    return await request.app[CART].remove(principal(request).user_id, query.product_id)


# Coupons -------------------------------------------------------------------------------------------------


class CouponQuery(PageQuery):
    seller_id: str | None = Field(None, max_length=26)


@routes.get("/api/coupons", query=CouponQuery, response=Page[Coupon], access=Access.PUBLIC, tags=SHOP)
async def list_coupons(request: web.Request, query: CouponQuery) -> Page[Coupon]:
    """Coupons usable now, optionally one seller's."""
    return await request.app[COUPONS].list_available(query.limit, query.cursor, query.seller_id)


@routes.post(
    "/api/coupons",
    body=CouponCreate,
    response=Coupon,
    status=201,
    access=Access.CREATOR,
    tags=SHOP,
    errors=(403, 404, 409),
)
async def create_coupon(request: web.Request, body: CouponCreate) -> Coupon:
    """Create a coupon for your products (creators) or for the whole platform (administrators)."""
    return await request.app[COUPONS].create(principal(request), body)


@routes.post("/api/coupons/validate", body=CouponValidate, response=CouponCheck, tags=SHOP, errors=(404, 409))
async def validate_coupon(request: web.Request, body: CouponValidate) -> CouponCheck:
    """Price a coupon against the given lines (or the cart) and say why it does not apply, if it does not."""
    who = principal(request)
    if body.items is not None:
        quantities: dict[str, int] = {}
        for item in body.items:
            quantities[item.product_id] = quantities.get(item.product_id, 0) + item.quantity
    else:
        quantities = await request.app[CART].quantities(who.user_id)
        if not quantities:
            raise Conflict("your cart is empty; pass items to price", slug="cart-empty")
    async with request.app[DATABASE].read() as conn:
        lines = priced(await load_lines(conn, quantities))
    return await request.app[COUPONS].check(who.user_id, body.code, lines)


@routes.get("/api/coupons/{code}", response=Coupon, access=Access.PUBLIC, tags=SHOP, errors=(404,))
async def get_coupon(request: web.Request) -> Coupon:
    """One coupon by its code."""
    return await request.app[COUPONS].get(request.match_info["code"])


# Orders --------------------------------------------------------------------------------------------------


@routes.post(
    "/api/orders", body=OrderCreate, response=Order, status=201, idempotent=True, tags=SHOP, errors=(402, 403, 404, 409)
)
async def create_order(request: web.Request, body: OrderCreate) -> Order:
    """Place an order from the given lines or the cart: stock is reserved, totals are computed here."""
    return await request.app[ORDERS].place(principal(request), body)


@routes.get("/api/orders", query=OrderQuery, response=Page[Order], tags=SHOP)
async def list_orders(request: web.Request, query: OrderQuery) -> Page[Order]:
    """The caller's orders as a buyer, or (``role=seller``) the orders of their shop."""
    return await request.app[ORDERS].listing(principal(request), query.role, query.status, query.limit, query.cursor)


@routes.get("/api/orders/{order_id}", response=Order, tags=SHOP, errors=(404,))
async def get_order(request: web.Request) -> Order:
    """One order, for its buyer, its seller or an administrator."""
    return await request.app[ORDERS].get(principal(request), request.match_info["order_id"])


@routes.put("/api/orders/{order_id}/cancel", response=Order, tags=SHOP, errors=(404, 409))
async def cancel_order(request: web.Request) -> Order:
    """Cancel a pending order, or refund a paid one; the stock goes back on sale."""
    return await request.app[ORDERS].cancel(principal(request), request.match_info["order_id"])


@routes.put("/api/orders/{order_id}/ship", body=ShipRequest, response=Order, tags=SHOP, errors=(403, 404, 409))
async def ship_order(request: web.Request, body: ShipRequest) -> Order:
    """The seller marks a paid order shipped."""
    orders = request.app[ORDERS]
    return await orders.advance(principal(request), request.match_info["order_id"], OrderStatus.SHIPPED, body.tracking)


@routes.put("/api/orders/{order_id}/deliver", response=Order, tags=SHOP, errors=(403, 404, 409))
async def deliver_order(request: web.Request) -> Order:
    """The seller marks a shipped order delivered."""
    return await request.app[ORDERS].advance(principal(request), request.match_info["order_id"], OrderStatus.DELIVERED)

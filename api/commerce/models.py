"""Request and response bodies of the shop endpoints. Money is always integer minor units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from api.models import Id, Line, PageQuery, Paragraphs, QueryModel, RequestModel, ResponseModel

Money = Annotated[int, Field(ge=0, le=10**12, description="Integer minor units (cents).")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")]
Quantity = Annotated[int, Field(ge=1, le=1000)]
Url = Annotated[str, Field(max_length=512, pattern=r"^https?://\S+$")]
CouponCode = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


# Products ------------------------------------------------------------------------------------------------


class ProductCreate(RequestModel):
    title: Annotated[Line, Field(min_length=1, max_length=120)]
    description: Annotated[Paragraphs, Field(max_length=5000)] = ""
    category: Annotated[Line, Field(min_length=1, max_length=32)] = "general"
    price: Money
    currency: Currency = "USD"
    stock: Annotated[int, Field(ge=0, le=10**6)]
    image_url: Url | None = None


class ProductUpdate(RequestModel):
    title: Annotated[Line, Field(min_length=1, max_length=120)] | None = None
    description: Annotated[Paragraphs, Field(max_length=5000)] | None = None
    category: Annotated[Line, Field(min_length=1, max_length=32)] | None = None
    price: Money | None = None
    stock: Annotated[int, Field(ge=0, le=10**6)] | None = None
    image_url: Url | None = None
    status: Literal["active", "archived"] | None = None
    featured: bool | None = Field(None, description="Administrators only.")


class Product(ResponseModel):
    id: str
    seller_id: str
    title: str
    description: str
    category: str
    price: int
    currency: str
    stock: int
    sold: int
    image_url: str | None
    featured: bool
    status: str
    created_at: datetime
    updated_at: datetime


class ProductQuery(PageQuery):
    seller_id: str | None = Field(None, max_length=26)
    category: str | None = Field(None, max_length=32)


class ProductSearch(PageQuery):
    q: str = Field(min_length=1, max_length=100)


# Cart ----------------------------------------------------------------------------------------------------


class CartAdd(RequestModel):
    product_id: Id
    quantity: Quantity = 1


class CartUpdate(RequestModel):
    product_id: Id
    quantity: Quantity


class CartRemove(QueryModel):
    product_id: Id


class CartLine(ResponseModel):
    product: Product
    quantity: int
    line_total: int
    available: bool = Field(description="False when the product sold out, or has fewer left than the quantity.")


class CartView(ResponseModel):
    items: list[CartLine]
    subtotal: int
    currency: str | None
    item_count: int


# Coupons -------------------------------------------------------------------------------------------------


class CouponCreate(RequestModel):
    code: CouponCode
    kind: Literal["percent", "fixed"]
    value: Annotated[int, Field(ge=1, le=10**9)]
    min_order: Money = 0
    scope: Literal["all", "creator", "product"] = "creator"
    scope_id: Id | None = None
    max_uses: Annotated[int, Field(ge=1, le=10**7)] | None = None
    per_user_limit: Annotated[int, Field(ge=1, le=1000)] | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    description: Annotated[Line, Field(max_length=200)] = ""


class Coupon(ResponseModel):
    id: str
    code: str
    owner_id: str
    kind: str
    value: int
    min_order: int
    scope: str
    scope_id: str | None
    max_uses: int | None
    per_user_limit: int | None
    uses: int
    starts_at: datetime
    expires_at: datetime | None
    active: bool
    description: str


class ItemRequest(RequestModel):
    product_id: Id
    quantity: Quantity


class CouponValidate(RequestModel):
    code: CouponCode
    items: Annotated[list[ItemRequest], Field(min_length=1, max_length=50)] | None = Field(
        None, description="The lines to price; the caller's cart when omitted."
    )


class CouponCheck(ResponseModel):
    code: str
    valid: bool
    reason: str | None = Field(None, description="Why the coupon does not apply, as a stable code.")
    detail: str | None = Field(None, description="The reason in words.")
    subtotal: int
    discount: int
    total: int


# Orders --------------------------------------------------------------------------------------------------


class Address(RequestModel):
    name: Annotated[Line, Field(min_length=1, max_length=100)]
    line1: Annotated[Line, Field(min_length=1, max_length=200)]
    line2: Annotated[Line, Field(max_length=200)] = ""
    city: Annotated[Line, Field(min_length=1, max_length=100)]
    postal_code: Annotated[Line, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class OrderCreate(RequestModel):
    items: Annotated[list[ItemRequest], Field(min_length=1, max_length=50)] | None = Field(
        None, description="The lines to buy; the caller's cart when omitted."
    )
    coupon_code: CouponCode | None = None
    payment_method: Literal["coins", "card"] = "coins"
    payment_token: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        None, description="For card payments: the payment provider's token (sandbox: tok_visa, ...)."
    )
    shipping_address: Address

    @model_validator(mode="after")
    def _card_needs_token(self) -> OrderCreate:
        if self.payment_method == "card" and self.payment_token is None:
            raise ValueError("a card payment needs a payment_token")
        return self


class OrderLine(ResponseModel):
    product_id: str
    title: str
    unit_price: int
    quantity: int
    line_total: int


class DiscountLine(ResponseModel):
    code: str
    amount: int


class Order(ResponseModel):
    id: str
    buyer_id: str
    seller_id: str
    status: str
    currency: str
    items: list[OrderLine]
    subtotal: int
    discount: int
    discount_line: DiscountLine | None
    total: int
    payment_method: str
    payment_ref: str | None
    shipping_address: dict[str, str]
    tracking: str | None
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None


class OrderQuery(PageQuery):
    role: Literal["buyer", "seller"] = "buyer"
    status: str | None = Field(None, max_length=16)


class ShipRequest(RequestModel):
    tracking: Annotated[Line, Field(min_length=1, max_length=64)] | None = None

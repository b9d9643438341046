"""Shop: products, carts, coupons and their redemptions, orders and their lines.

Money is integer minor units (cents) of one currency per row; no float ever holds a price. Stock and coupon
use counts carry CHECK constraints so that no code path, however wrong, can drive them negative or past a
limit: the database refuses the write.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from store.schema import metadata
from store.types import UtcDateTime

products = Table(
    "products",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("seller_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(32), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("stock", Integer, nullable=False),
    Column("sold", Integer, nullable=False),
    Column("image_url", String(512), nullable=True),
    Column("featured", Boolean, nullable=False),
    # active: for sale; archived: hidden by its seller; removed: taken down by moderation.
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("price >= 0", name="price_not_negative"),
    Index("ix_products_seller_id", "seller_id"),
    Index("ix_products_status_id", "status", "id"),
)

cart_items = Table(
    "cart_items",
    metadata,
    Column("user_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", String(26), ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "product_id", name="pk_cart_items"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

coupons = Table(
    "coupons",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("owner_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # percent | fixed
    Column("value", BigInteger, nullable=False),  # percent points, or minor units
    Column("min_order", BigInteger, nullable=False),
    Column("scope", String(8), nullable=False),  # all | creator | product
    Column("scope_id", String(26), nullable=True),
    Column("max_uses", Integer, nullable=True),
    Column("per_user_limit", Integer, nullable=True),
    Column("uses", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("description", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="uses_within_limit"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("buyer_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("seller_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("coupon_id", String(26), ForeignKey("coupons.id", ondelete="SET NULL"), nullable=True),
    Column("coupon_code", String(32), nullable=True),
    Column("payment_method", String(8), nullable=False),  # coins | card
    Column("payment_ref", String(64), nullable=True),
    Column("shipping_address", Text, nullable=False),
    Column("tracking", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("paid_at", UtcDateTime, nullable=True),
    Column("shipped_at", UtcDateTime, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("cancelled_at", UtcDateTime, nullable=True),
    CheckConstraint("discount >= 0 AND total >= 0 AND total = subtotal - discount", name="totals_add_up"),
    Index("ix_orders_buyer_id_id", "buyer_id", "id"),
    Index("ix_orders_seller_id_id", "seller_id", "id"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", String(26), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", String(26), ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(120), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("order_id", "product_id", name="pk_order_items"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

coupon_redemptions = Table(
    "coupon_redemptions",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("coupon_id", String(26), ForeignKey("coupons.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(26), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", String(26), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("order_id", name="uq_coupon_redemptions_order_id"),
    Index("ix_coupon_redemptions_coupon_id_user_id", "coupon_id", "user_id"),
)

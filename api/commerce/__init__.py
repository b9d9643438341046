"""The shop: products, carts, coupons and orders (issue 5)."""

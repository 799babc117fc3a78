"""The shapes of an account as the API answers it, declared once: the serializer dumps them and the OpenAPI
document reads them."""
from __future__ import annotations

from ..schema import Boolean, Schema, Text

#: GET /me: the token's account
ME_OUT = Schema("Me", {
    "email": Text(plain=False, required=True, nullable=True),
    "phone": Text(plain=False, required=True, nullable=True),
    "is_platform_admin": Boolean(required=True),
    "volunteer_number": Text(plain=False, required=True, nullable=True,
                             description="The account's volunteer record, if it has one."),
})

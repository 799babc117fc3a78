"""An account's shapes, declared once: what the sign-in, sign-up, password, token and preference forms accept, and
the account as the API answers it. The forms' validators, the model's columns, the service's checks, the
serializer and the OpenAPI document read them from here."""
from __future__ import annotations

from ..schema import Boolean, Schema, Text

#: an account's e-mail address: the longest RFC 5321 allows
EMAIL_MAX = 254
#: an e-mail address or a mobile number, as a person types it to sign in: at most an e-mail address
IDENTIFIER_MAX = EMAIL_MAX
#: longer passwords are refused before hashing, so a stranger cannot make the server hash megabytes
PASSWORD_MAX = 200
#: an API token's name, so a person can tell their tokens apart
TOKEN_NAME_MAX = 80
#: the real name printed as the handler on the certificates a person issues
DISPLAY_NAME_MAX = 60

#: the sign-in, sign-up and password forms; neither field is prose, so neither goes through the text check
CREDENTIALS = Schema("Credentials", {
    "identifier": Text(IDENTIFIER_MAX, required=True, plain=False),
    "password": Text(PASSWORD_MAX, required=True, plain=False),
})

#: a new API token
API_TOKEN = Schema("ApiTokenFields", {"name": Text(TOKEN_NAME_MAX, required=True)})

#: the account's preferences
PREFERENCES = Schema("Preferences", {"display_name": Text(DISPLAY_NAME_MAX)})

#: GET /me: the token's account
ME_OUT = Schema("Me", {
    "email": Text(plain=False, required=True, nullable=True),
    "phone": Text(plain=False, required=True, nullable=True),
    "is_platform_admin": Boolean(required=True),
    "volunteer_number": Text(plain=False, required=True, nullable=True,
                             description="The account's volunteer record, if it has one."),
})

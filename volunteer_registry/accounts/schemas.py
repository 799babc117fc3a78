"""An account's shapes, declared once: what the sign-in, sign-up, password, token and preference forms accept.
The forms' validators, the model's columns and the service's checks read the limits from here."""
from __future__ import annotations

from ..schema import Schema, Text

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

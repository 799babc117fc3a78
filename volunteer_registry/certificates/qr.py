"""The certificate's QR code: the verification URL in alphanumeric mode, error correction M, version 15 at most
(a phone camera reads it from paper at arm's length; STANDARDS.md)."""
from __future__ import annotations

import qrcode
import qrcode.image.svg
from qrcode.util import MODE_ALPHA_NUM, QRData

MAX_VERSION = 15


class QRTooLarge(ValueError):
    def __init__(self, version: int):
        self.version = version
        super().__init__(f"the verification URL needs QR version {version}, more than {MAX_VERSION}")


def _data(url: str) -> QRData:
    return QRData(url.encode("ascii"), mode=MODE_ALPHA_NUM, check_data=True)


def qr_version(url: str) -> int:
    """The smallest QR version that holds ``url`` at error correction M (computed from the data's length, without
    drawing the code: about a millisecond). Raises QRTooLarge beyond version 15."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(_data(url))
    version = qr.best_fit()
    if version > MAX_VERSION:
        raise QRTooLarge(version)
    return version


def certificate_qr(url: str) -> qrcode.QRCode:
    """The QR for ``url`` (uppercase: alphanumeric mode holds only 0–9, A–Z, space and $%*+-./:).
    Raises QRTooLarge beyond version 15."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    qr.add_data(_data(url))
    qr.make(fit=True)
    if qr.version > MAX_VERSION:
        raise QRTooLarge(qr.version)
    return qr


def qr_svg(url: str) -> bytes:
    """The QR as a standalone SVG (vector, so it prints sharp at any size). Raises QRTooLarge."""
    return certificate_qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string()

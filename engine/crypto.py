"""Encryption of secrets at rest (shop access and refresh tokens)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipher:
    """Encrypts with the newest key and decrypts with any configured key.

    Rotating keys: put the new key first in ``TOKEN_ENCRYPTION_KEY`` (comma
    separated), keep the old one after it until ``revisit rotate-token-key`` has
    re-encrypted every stored token, then drop it.
    """

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys or not all(keys):
            raise ValueError("TOKEN_ENCRYPTION_KEY must name at least one Fernet key.")
        try:
            self._fernet = MultiFernet([Fernet(key.strip()) for key in keys])
        except ValueError as exc:
            raise ValueError(
                "TOKEN_ENCRYPTION_KEY holds a value that is not a Fernet key; make"
                " one with `revisit generate-key`."
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "A stored token cannot be decrypted with any configured key;"
                " was TOKEN_ENCRYPTION_KEY changed without keeping the old key?"
            ) from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt a value under the newest key."""
        return self._fernet.rotate(ciphertext.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()

"""Field encryption (AES-256-GCM, versioned key-identified tokens), key rings and rotation."""

from pbl_db.crypto.cipher import Context, DecryptError, KeyRing

__all__ = ["Context", "DecryptError", "KeyRing"]

import stat

import pytest

from export.keys import generate_keypair, key_id, load_private_key, load_public_key


def test_generate_load_sign(tmp_path) -> None:
    private_path, public_path = generate_keypair(tmp_path, "k")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert private_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    private, public = load_private_key(private_path), load_public_key(public_path)
    public.verify(private.sign(b"msg"), b"msg")
    assert key_id(public) == key_id(private.public_key())
    other = load_public_key(generate_keypair(tmp_path, "other")[1])
    assert key_id(other) != key_id(public)


def test_refuses_to_overwrite(tmp_path) -> None:
    generate_keypair(tmp_path)
    with pytest.raises(FileExistsError, match="refusing"):
        generate_keypair(tmp_path)

"""Reading and rewriting saved model files, for the tests that damage or forge them."""

import hashlib
import json
import zipfile


def members(path):
    """Every member of a model file, by name."""
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def write(path, contents, checksums=True):
    """Write ``contents`` as a model file; with ``checksums``, as ``save`` would sum them."""
    contents = dict(contents)
    if checksums:
        contents.pop("checksums.json", None)
        sums = {n: hashlib.sha256(d).hexdigest() for n, d in contents.items()}
        contents["checksums.json"] = json.dumps(sums).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in contents.items():
            z.writestr(name, data)


def edit_meta(path, edit):
    """Apply ``edit(meta)`` to the file's metadata and write it back, checksums renewed."""
    contents = members(path)
    meta = json.loads(contents["sknumpynet.json"])
    edit(meta)
    contents["sknumpynet.json"] = json.dumps(meta).encode()
    write(path, contents)

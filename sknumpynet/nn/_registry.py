"""The one lookup behind the engine's registries (activations, losses, ...)."""


def lookup(table, name, kind):
    """``table[name]``, or a ValueError naming the ``kind`` and the choices.

    Parameters
    ----------
    table : dict
        A registry, by short name.
    name : str
    kind : str
        What the table holds, for the message ("activation", "loss", ...).

    Returns
    -------
    entry : object
    """
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"Unknown {kind} {name!r}; choose one of {sorted(table)}.") from None

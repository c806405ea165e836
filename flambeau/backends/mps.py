"""Apple's MPS device does not exist in flambeau."""


def is_available():
    return False


def is_built():
    return False

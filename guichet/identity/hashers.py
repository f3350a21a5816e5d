from django.contrib.auth.hashers import Argon2PasswordHasher


class GuichetArgon2Hasher(Argon2PasswordHasher):
    """Argon2id with at least OWASP's parameters (19 MiB, 2 iterations, 1 lane).

    We use 64 MiB and 3 iterations, above the OWASP floor; the algorithm name
    stays ``argon2`` so Django upgrades older hashes on login.
    """

    time_cost = 3
    memory_cost = 65536  # KiB
    parallelism = 1

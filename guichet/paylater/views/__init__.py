"""The consumer pages of the pay-later space (seed 003): schedules, card change, regularisation.

Thin views: they read through ``paylater.selectors`` (another customer's schedule is a 404, and so is
the whole space for a user without any order) and write through the services (``paylater.cards``,
``paylater.regularisation``), which check the rules again.
"""

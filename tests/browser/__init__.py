# A package, so its conftest imports as `browser.conftest` and does not replace the root
# `conftest` module that test modules import `user_with_role` from.

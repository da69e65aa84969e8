from tests.homecare.conftest import caregiver, elder, menu, offerings  # noqa: F401 (shared fixtures)

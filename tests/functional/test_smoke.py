from tests.functional.conftest import Harness


def test_full_rotation(harness: Harness) -> None:
    tokens = harness.emulator.issue("eu")
    arn = harness.seed(tokens)
    harness.rotate(arn)
    assert harness.current(arn)["RefreshToken"] != tokens["RefreshToken"]
    print(harness.sm.calls)

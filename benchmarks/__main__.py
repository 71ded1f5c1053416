"""`make bench`: the project's speed and call-count figures."""

from benchmarks import rotation

rotation.main()

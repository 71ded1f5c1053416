"""`make bench`: the project's speed and call-count figures."""

from benchmarks import consumer, rotation

rotation.main()
print()
consumer.main()

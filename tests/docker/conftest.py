"""The Docker tests build an image (minutes): they run with `make test-docker`, not with `make test`."""

import os

if os.environ.get("GDVIZ_TEST_DOCKER") != "1":
    collect_ignore_glob = ["test_*.py"]

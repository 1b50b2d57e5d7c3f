"""Settings for every test: a complete, fake AWS environment, set before the package reads its
settings, so that no test can reach a real account."""

from local.offline import use_fake_environment

use_fake_environment("test")

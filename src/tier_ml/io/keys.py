"""What a load of the champion models holds besides the models themselves (see
`tier_ml.io.registry`), in a module of its own: scoring and the portable scoring model read
these keys without importing Kedro, which a platform serving the model need not have."""

TAGS = "tags"  # key of the propensity version's tags (trained_through, method) in a load
REFERENCE = "reference"  # key of the propensity version's training distribution in a load
POOL = "cold_start_pool"  # key of the propensity version's cold-start pool in a load

"""tier_ml: predictive customer tiering for B2B sales."""

import os
import sys

# LightGBM's OpenMP threads spin while they wait; on a busy or shared machine (a scheduler's
# host, two jobs at once) that makes training crawl. Passive waiting costs almost nothing when
# the machine is idle. Set before LightGBM loads its OpenMP runtime; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# pandera imports pandas-on-Spark (`pyspark.pandas`) as soon as pyspark is installed and
# imported (mlflow imports it), which warns on every run that pyspark does not support
# pandas 3, and then fails to import under pandas 3 anyway. tier_ml never uses it: the Spark
# path (mlflow's spark_udf) runs on pyspark.sql. Marking it absent skips the doomed import;
# a process that imported it before tier_ml keeps it.
sys.modules.setdefault("pyspark.pandas", None)

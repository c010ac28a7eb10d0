"""CSV files shaped like real exports, for the ingestion tests (tests/cli/ingest.rs).

Written with pandas (the version is recorded in tests/data/exports/README.md); run from the
repository root:  tests/reference/.venv/bin/python tests/reference/make_csv_exports.py

Every file holds the same 12 units; `y = 1 + 2 * treated + age / 10 + noise` (fixed numbers below),
so the tests know each column's mean and the difference in means exactly.
"""
import pathlib
import sys

import numpy as np
import pandas as pd

out = pathlib.Path("tests/data/exports")
out.mkdir(parents=True, exist_ok=True)

n = 12
noise = np.array([0.3, -0.2, 0.1, 0.0, -0.4, 0.2, 0.5, -0.1, 0.0, 0.3, -0.3, -0.4])
treated = np.array([True, False] * 6)
age = np.array([30, 41, 25, 52, 38, 47, 33, 29, 61, 44, 36, 50])
df = pd.DataFrame(
    {
        "name": [f"unit {i}" for i in range(n)],  # a string column no command uses
        "treated": treated,  # pandas bool: written True/False
        "age": age,
        "site": ["north", "south", "east"] * 4,  # a string label (cluster / strata)
        "y": 1 + 2 * treated + age / 10 + noise,
    }
)
df["arm"] = np.where(treated, "treated", "control")  # a two-level string treatment
df["group"] = ["a", "b", "c", "a"] * 3  # three levels
# 1. pandas to_csv with booleans and strings
df.to_csv(out / "pandas_bool.csv", index=False)
# 2. get_dummies output: one True/False column per level
pd.get_dummies(df, columns=["site"]).to_csv(out / "get_dummies.csv", index=False)
# 3. nullable dtypes: pd.NA written as <NA> (as astype(str) exports do)
na = df.copy()
na["age"] = na["age"].astype("Int64")
na.loc[[2, 7], "age"] = pd.NA
na.to_csv(out / "nullable_na.csv", index=False, na_rep="<NA>")
# 4. Stata-style missing values: `.`
st = df.copy()
st.loc[4, "y"] = np.nan
st.to_csv(out / "stata_dot.csv", index=False, na_rep=".")
# 5. a semicolon file with a decimal point, and the European export (semicolon, decimal comma)
df.to_csv(out / "semicolon.csv", index=False, sep=";")
df.to_csv(out / "semicolon_decimal_comma.csv", index=False, sep=";", decimal=",")
# 6. a tab-separated file
df.to_csv(out / "tab.tsv", index=False, sep="\t")

(out / "README.md").write_text(
    "# CSV exports for the ingestion tests\n\n"
    "Written by `tests/reference/make_csv_exports.py` with pandas "
    f"{pd.__version__} and numpy {np.__version__} (Python {sys.version.split()[0]}).\n"
)
print("wrote", sorted(p.name for p in out.iterdir()))

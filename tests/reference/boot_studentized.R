# R boot / boot.ci studentized intervals for the "studentized_mc" cases of
# tests/reference/statistics_reference.json; called by make_statistics_reference.py as
#   Rscript tests/reference/boot_studentized.R CASE DATA.csv B SEEDS LEVEL
# which prints one line per seed (set.seed(1000 + s), s = 0 .. SEEDS-1): the low and high
# endpoints of boot.ci(type = "stud"), the statistic returning (estimate, its variance).
suppressMessages(library(boot))
a <- commandArgs(trailingOnly = TRUE)
case <- a[1]; d <- read.csv(a[2]); R <- as.integer(a[3]); seeds <- as.integer(a[4])
level <- as.numeric(a[5])
if (case == "mean") {
  st <- function(d, i) { v <- d$x[i]; c(mean(v), var(v) / length(v)) }
} else {
  X <- cbind(1, d$x1, d$x2); y <- d$y; n <- nrow(X)
  st <- function(dd, i) {
    Xi <- X[i, ]; yi <- y[i]
    inv <- solve(crossprod(Xi)); beta <- inv %*% crossprod(Xi, yi)
    s2 <- sum((yi - Xi %*% beta)^2) / (n - 3)
    c(beta[2], s2 * inv[2, 2])
  }
}
for (s in 0:(seeds - 1)) {
  set.seed(1000 + s)
  b <- boot(d, st, R = R)
  ci <- boot.ci(b, conf = level, type = "stud")
  cat(sprintf("%.17g %.17g\n", ci$student[4], ci$student[5]))
}
cat(sprintf("version %s %s\n", as.character(packageVersion("boot")), R.version$version.string))

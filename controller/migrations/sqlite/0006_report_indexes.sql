-- Covering indexes for the built-in reports, so that a report over every saved result reads a narrow index
-- instead of the wide result rows (reason, fields and URLs make a row several times an index entry):
--   run-summary         GROUP BY run_id, with project, build, status, started_at and saved_at;
--   status-breakdown    GROUP BY status, filtered on project, run and build;
--   slowest-tests       GROUP BY test, AVG(duration_ms), filtered on project;
--   pass-rate-per-build and flaky-tests  GROUP BY build (and test), status, filtered on project.
-- The duration index served an earlier form of slowest-tests and goes; results_build gains the project.
DROP INDEX results_duration;
DROP INDEX results_build;
CREATE INDEX results_build ON results(build, test, status, project);
CREATE INDEX results_run_summary ON results(run_id, project, build, status, started_at, saved_at);
CREATE INDEX results_status ON results(status, project, build, run_id);
CREATE INDEX results_test_duration ON results(test, project, duration_ms);

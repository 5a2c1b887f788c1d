package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAirflowDAG runs the Python test of dags/pinpipe_batch.py (a stand-in of
// the airflow modules; it builds batchjob and runs the DAG's command on
// generated data), when python3 is installed.
func TestAirflowDAG(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and generates data")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is not installed: the Airflow DAG cannot be tested")
		}
		t.Skip("python3 is not installed")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), py, "-m", "unittest", "discover", "-s", "dags/tests")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest discover -s dags/tests: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

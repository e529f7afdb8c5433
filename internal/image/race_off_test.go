//go:build !race

package image

// raceDetector: the tests run under the race detector.
const raceDetector = false

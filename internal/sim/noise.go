package sim

// mix is SplitMix64's finaliser: a cheap, well-spread hash, so that every
// random draw is a pure function of (seed, cycle, zone, slot) and Step can
// be called for any instant in any order.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit is a uniform draw in [0, 1) keyed by its arguments.
func unit(seed, cycle, zone, slot uint64) float64 {
	h := mix(seed ^ mix(cycle^mix(zone^mix(slot))))
	return float64(h>>11) / (1 << 53)
}

// noiseKnot is the spacing, in seconds, of the slow wander's control points.
const noiseKnot = 8

// valueNoise is smooth noise in [-1, 1]: random values every noiseKnot
// seconds, eased between.
func valueNoise(seed, cycle, zone, sec uint64) float64 {
	k := sec / noiseKnot
	f := float64(sec%noiseKnot) / noiseKnot
	a := 2*unit(seed, cycle, zone, 1<<32+k) - 1
	b := 2*unit(seed, cycle, zone, 1<<32+k+1) - 1
	f = f * f * (3 - 2*f)
	return a + (b-a)*f
}

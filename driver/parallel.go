package driver

import (
	"runtime"
	"sync"
)

// eachParallel calls f(i) for every i in [0, n) on at most GOMAXPROCS
// goroutines at a time, starting them in order, and returns when all have
// returned. f writes its result to its own index, so results keep the
// order of the inputs.
func eachParallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

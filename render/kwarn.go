package render

import (
	"path"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/loc"
)

// Kustomize warns about deprecated kustomization fields (bases,
// patchesStrategicMerge, commonLabels, vars...) by printing to the
// process's stderr, without a file name, even under -q. krusty converts
// those fields to their replacements right after warning
// (Kustomization.FixKustomization); kubeharden does that conversion
// itself, in memory, before krusty reads the file, so krusty sees
// nothing to warn about and the warnings become Result.Warnings, each
// naming its file. What krusty builds is unchanged: it is its own
// conversion.

// modernizeKustomization returns the content krusty should read for the
// kustomization file src and the deprecation warnings it would print. A
// file with no deprecated field, or one that does not parse as a
// Kustomization (krusty reports that), is returned as it is.
func modernizeKustomization(src []byte) ([]byte, []string) {
	var k types.Kustomization
	if err := k.Unmarshal(src); err != nil {
		return src, nil
	}
	msgs := k.CheckDeprecatedFields()
	if msgs == nil || len(*msgs) == 0 {
		return src, nil
	}
	k.FixKustomization()
	out, err := kyaml.Marshal(&k)
	if err != nil {
		return src, nil
	}
	var warnings []string
	for _, m := range *msgs {
		warnings = append(warnings, strings.TrimSpace(strings.TrimPrefix(m, "# Warning:")))
	}
	return out, warnings
}

func isKustomizationFile(rel string) bool {
	return slices.Contains(kustomizationNames, path.Base(rel))
}

// warnSet collects the warnings of one build, once per file and message;
// safe for concurrent use.
type warnSet struct {
	mu   sync.Mutex
	seen map[string]bool
	list []loc.Error
}

func (w *warnSet) add(file string, msgs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	for _, m := range msgs {
		if k := file + "\x00" + m; !w.seen[k] {
			w.seen[k] = true
			w.list = append(w.list, loc.Error{File: file, Message: m})
		}
	}
}

func (w *warnSet) errors() []loc.Error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

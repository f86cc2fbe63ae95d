// Package helm is the one place kubeharden calls Helm: no other package
// of the module imports helm.sh/... (render's TestHelmSeam checks it).
//
// It wraps what rendering needs from Helm 3's SDK: loading a chart from
// files (chart/loader) and its .helmignore rules (ignore), the chart's
// name, version, templates, files, schema and subcharts (chart), reading,
// coalescing and path lookup of values, --set parameters (strvals),
// capabilities, dependency processing and the render values
// (chartutil), and the template engine run with a lookup client provider
// (engine). Callers see only the types of this package (Chart, ChartKey,
// File, Template, Ignore, Capabilities, Release, RenderValues,
// ClientProvider) and plain map[string]any values, never a Helm type.
//
// Helm 3 gets security fixes only until 2027-02-10. Moving to
// helm.sh/helm/v4 touches this package alone: its imports (v4 moves the
// chart, loader and chartutil packages around) and the bodies of these
// functions, while the types and functions it exposes stay. Elsewhere
// only the module path in main's trackedLibraries (the versions
// "kubeharden version" reports) names Helm; the rest of the module
// changes only if v4 renders differently, which render's tests would show.
package helm

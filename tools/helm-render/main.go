// helm-render renders a Helm chart the way `helm template` does, for the parts of Helm that
// Ferry's chart uses, so that CI can render and validate the chart without Helm itself
// (Helm cannot be downloaded there). It is Go's text/template with sprig v3 and Helm's own
// functions (include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup), and the
// objects Helm gives templates: .Values, .Release, .Chart, .Capabilities, .Files, .Template.
//
// Usage mirrors `helm template`:
//
//	helm-render template RELEASE CHART_DIR [--namespace NS] [-f FILE]... [--set K=V]...
//	            [--kube-version V] [--show-values] [--notes]
//
// Helm's behaviour it follows: https://helm.sh/docs/chart_template_guide/ (built-in objects,
// values files, named templates, accessing files) and helm.sh/helm/v3/pkg/engine.
//
// Built in GOPATH mode against Debian's packaged libraries, nothing downloaded:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render ./tools/helm-render
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yaml "gopkg.in/yaml.v3"
)

type options struct {
	release     string
	chartDir    string
	namespace   string
	valueFiles  []string
	sets        []string
	kubeVersion string
	showValues  bool
	notes       bool
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "helm-render: %v\n", err)
		os.Exit(2)
	}
	out, err := render(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func parseArgs(args []string) (options, error) {
	opts := options{namespace: "default", kubeVersion: "v1.30.0"}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch {
		case a == "-n" || a == "--namespace":
			v, err = next()
			opts.namespace = v
		case strings.HasPrefix(a, "--namespace="):
			opts.namespace = strings.TrimPrefix(a, "--namespace=")
		case a == "-f" || a == "--values":
			v, err = next()
			opts.valueFiles = append(opts.valueFiles, v)
		case a == "--set":
			v, err = next()
			opts.sets = append(opts.sets, v)
		case strings.HasPrefix(a, "--set="):
			opts.sets = append(opts.sets, strings.TrimPrefix(a, "--set="))
		case a == "--kube-version":
			v, err = next()
			opts.kubeVersion = v
		case a == "--show-values":
			opts.showValues = true
		case a == "--notes":
			// What `helm install` prints after NOTES: (`helm template` renders no notes).
			opts.notes = true
		case strings.HasPrefix(a, "-"):
			return opts, fmt.Errorf("unknown flag %s", a)
		default:
			positional = append(positional, a)
		}
		if err != nil {
			return opts, err
		}
	}
	if len(positional) != 3 || positional[0] != "template" {
		return opts, errors.New("usage: helm-render template RELEASE CHART_DIR [--namespace NS] [-f FILE]... [--set K=V]... [--kube-version V] [--show-values] [--notes]")
	}
	opts.release, opts.chartDir = positional[1], positional[2]
	if !strings.HasPrefix(opts.kubeVersion, "v") {
		opts.kubeVersion = "v" + opts.kubeVersion
	}
	return opts, nil
}

// readYAML parses YAML into JSON-shaped Go values, as Helm does (sigs.k8s.io/yaml converts
// YAML to JSON first, so every number is a float64 and every map has string keys).
func readYAML(data []byte) (map[string]interface{}, error) {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	j, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var out map[string]interface{}
	if err := json.Unmarshal(j, &out); err != nil {
		return nil, fmt.Errorf("the document is not a map: %v", err)
	}
	return out, nil
}

// mergeValues deep-merges src over dst as Helm coalesces values: maps merge key by key,
// anything else replaces, and a null removes the key.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := v.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			dst[k] = mergeValues(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

var setIndex = regexp.MustCompile(`^(.*)\[(\d+)\]$`)

// applySet applies one --set: comma-separated key=value pairs, dotted keys, `{a,b}` lists,
// `name[0]` list elements, and Helm's type inference (integers, booleans, null).
func applySet(values map[string]interface{}, set string) error {
	for _, pair := range splitSet(set) {
		eq := strings.Index(pair, "=")
		if eq <= 0 {
			return fmt.Errorf("--set %q: expected key=value", pair)
		}
		key, raw := pair[:eq], pair[eq+1:]
		var value interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			items := []interface{}{}
			for _, it := range strings.Split(strings.Trim(raw, "{}"), ",") {
				if it != "" {
					items = append(items, typed(it))
				}
			}
			value = items
		} else {
			value = typed(raw)
		}
		parts := strings.Split(key, ".")
		cur := values
		for i, p := range parts {
			last := i == len(parts)-1
			if m := setIndex.FindStringSubmatch(p); m != nil {
				idx, _ := strconv.Atoi(m[2])
				list, _ := cur[m[1]].([]interface{})
				for len(list) <= idx {
					list = append(list, nil)
				}
				if last {
					list[idx] = value
				} else {
					child, ok := list[idx].(map[string]interface{})
					if !ok {
						child = map[string]interface{}{}
						list[idx] = child
					}
					cur[m[1]] = list
					cur = child
					continue
				}
				cur[m[1]] = list
				continue
			}
			if last {
				if value == nil {
					delete(cur, p)
				} else {
					cur[p] = value
				}
				continue
			}
			child, ok := cur[p].(map[string]interface{})
			if !ok {
				child = map[string]interface{}{}
				cur[p] = child
			}
			cur = child
		}
	}
	return nil
}

// splitSet splits on commas that are not inside {...} or escaped with a backslash.
func splitSet(s string) []string {
	var parts []string
	var cur strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '{':
			depth++
			cur.WriteByte(c)
		case c == '}':
			depth--
			cur.WriteByte(c)
		case c == ',' && depth == 0:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

func typed(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	// Helm keeps integers as int64 and leaves everything else a string; values from files
	// are float64, and templates print both the same way.
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && (s == "0" || !strings.HasPrefix(s, "0")) {
		return n
	}
	return s
}

// files is Helm's .Files: every chart file that is not a template, Chart.yaml or a values file.
type files map[string][]byte

func (f files) Get(name string) string      { return string(f[name]) }
func (f files) GetBytes(name string) []byte { return f[name] }

func (f files) Glob(pattern string) files {
	re := globRegexp(pattern)
	out := files{}
	for name, data := range f {
		if re.MatchString(name) {
			out[name] = data
		}
	}
	return out
}

// AsConfig is the files as a YAML map of base name to content, for a ConfigMap's data.
func (f files) AsConfig() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	return toYAML(m)
}

// AsSecrets is the files as a YAML map of base name to base64 content, for a Secret's data.
func (f files) AsSecrets() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]string{}
	enc := sprig.TxtFuncMap()["b64enc"].(func(string) string)
	for name, data := range f {
		m[path.Base(name)] = enc(string(data))
	}
	return toYAML(m)
}

func (f files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// globRegexp compiles Helm's glob syntax (gobwas/glob with '/' as separator): `*` and `?`
// stay within a path segment, `**` crosses segments, `{a,b}` are alternatives.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '{':
			b.WriteString("(?:")
		case c == '}':
			b.WriteString(")")
		case c == ',':
			b.WriteString("|")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func toYAML(v interface{}) string {
	// Through JSON first, as Helm's toYaml (sigs.k8s.io/yaml) does, so structs and maps
	// come out the same way and keys are sorted.
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var generic interface{}
	if err := json.Unmarshal(j, &generic); err != nil {
		return ""
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func toJSON(v interface{}) string {
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(j)
}

func fromYAML(s string) map[string]interface{} {
	m, err := readYAML([]byte(s))
	if err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	var raw interface{}
	if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
		return []interface{}{err.Error()}
	}
	j, _ := json.Marshal(raw)
	var out []interface{}
	if err := json.Unmarshal(j, &out); err != nil {
		return []interface{}{err.Error()}
	}
	return out
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

type chartFile struct {
	name string
	data []byte
}

func loadChart(dir string) (meta map[string]interface{}, values map[string]interface{}, templates []chartFile, other files, err error) {
	chartYAML, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	raw, err := readYAML(chartYAML)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	// Helm's chart.Metadata has Go field names: name -> .Chart.Name, appVersion -> .Chart.AppVersion.
	meta = map[string]interface{}{}
	for k, v := range raw {
		meta[strings.ToUpper(k[:1])+k[1:]] = v
	}
	if meta["Name"] == nil || meta["Version"] == nil {
		return nil, nil, nil, nil, errors.New("Chart.yaml: name and version are required")
	}
	values = map[string]interface{}{}
	if data, err := os.ReadFile(filepath.Join(dir, "values.yaml")); err == nil {
		if values, err = readYAML(data); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("values.yaml: %v", err)
		}
	}
	other = files{}
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			if rel == "charts" || (rel != "." && strings.HasPrefix(path.Base(rel), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "templates/"):
			templates = append(templates, chartFile{rel, data})
		case rel == "Chart.yaml" || rel == "values.yaml" || rel == "values.schema.json" || rel == ".helmignore":
		default:
			other[rel] = data
		}
		return nil
	})
	sort.Slice(templates, func(i, j int) bool { return templates[i].name < templates[j].name })
	return meta, values, templates, other, err
}

func render(opts options) (string, error) {
	meta, values, templates, chartFiles, err := loadChart(opts.chartDir)
	if err != nil {
		return "", err
	}
	for _, f := range opts.valueFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("values file %s: %v", f, err)
		}
		override, err := readYAML(data)
		if err != nil {
			return "", fmt.Errorf("values file %s: %v", f, err)
		}
		values = mergeValues(values, override)
	}
	for _, s := range opts.sets {
		if err := applySet(values, s); err != nil {
			return "", err
		}
	}
	if opts.showValues {
		j, err := json.MarshalIndent(values, "", "  ")
		return string(j) + "\n", err
	}

	chartName := meta["Name"].(string)
	kv := strings.TrimPrefix(opts.kubeVersion, "v")
	kvParts := strings.SplitN(kv, ".", 3)
	if len(kvParts) < 2 {
		return "", fmt.Errorf("--kube-version %q: expected MAJOR.MINOR[.PATCH]", opts.kubeVersion)
	}
	capabilities := map[string]interface{}{
		"KubeVersion": map[string]interface{}{
			"Version":    opts.kubeVersion,
			"GitVersion": opts.kubeVersion,
			"Major":      kvParts[0],
			"Minor":      kvParts[1],
		},
		"APIVersions": apiVersions{},
		"HelmVersion": map[string]interface{}{"Version": "v3.15.0"},
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name":      opts.release,
			"Namespace": opts.namespace,
			"Service":   "Helm",
			"IsInstall": true,
			"IsUpgrade": false,
			"Revision":  1,
		},
		"Chart":        meta,
		"Capabilities": capabilities,
		"Files":        chartFiles,
	}

	root := template.New("gotpl")
	// Helm's default: a missing key renders as empty, not "<no value>" (post-processed below).
	root.Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includedNames := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includedNames[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		defer func() { includedNames[name]-- }()
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["fromYamlArray"] = fromYAMLArray
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	// `helm template` has no cluster: lookup finds nothing.
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	root.Funcs(funcs)

	for _, t := range templates {
		name := chartName + "/" + t.name
		if _, err := root.New(name).Parse(string(t.data)); err != nil {
			return "", err
		}
	}

	// execute renders one template with the top-level objects and its own .Template.
	execute := func(name string) (string, error) {
		ctx := map[string]interface{}{}
		for k, v := range top {
			ctx[k] = v
		}
		ctx["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, ctx); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}

	if opts.notes {
		name := chartName + "/templates/NOTES.txt"
		if root.Lookup(name) == nil {
			return "", nil
		}
		return execute(name)
	}

	type manifest struct{ source, doc, kind string }
	var manifests []manifest
	for _, t := range templates {
		base := path.Base(t.name)
		if strings.HasPrefix(base, "_") || strings.HasSuffix(base, ".txt") {
			continue
		}
		name := chartName + "/" + t.name
		text, err := execute(name)
		if err != nil {
			return "", err
		}
		for _, doc := range splitDocuments(text) {
			kind := ""
			if m := kindLine.FindStringSubmatch(doc); m != nil {
				kind = m[1]
			}
			manifests = append(manifests, manifest{name, doc, kind})
		}
	}
	// As `helm template`: in Helm's install order of kinds, each document under a
	// "# Source:" comment.
	sort.SliceStable(manifests, func(i, j int) bool {
		a, aok := installOrder[manifests[i].kind]
		b, bok := installOrder[manifests[j].kind]
		switch {
		case !aok && !bok:
			return manifests[i].kind < manifests[j].kind
		case !aok:
			return false
		case !bok:
			return true
		}
		return a < b
	})
	var out strings.Builder
	for _, m := range manifests {
		out.WriteString("---\n# Source: " + m.source + "\n" + m.doc + "\n")
	}
	return out.String(), nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

var kindLine = regexp.MustCompile(`(?m)^kind:[ \t]*["']?([A-Za-z0-9]+)`)

// installOrder is Helm's order of kinds on install (helm.sh/helm/v3/pkg/releaseutil);
// kinds it does not list come after, alphabetically.
var installOrder = func() map[string]int {
	kinds := []string{"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
		"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
		"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
		"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
		"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
		"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
		"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
		"APIService"}
	m := map[string]int{}
	for i, k := range kinds {
		m[k] = i
	}
	return m
}()

func splitDocuments(text string) []string {
	var docs []string
	for _, d := range docSeparator.Split(text, -1) {
		d = strings.Trim(d, "\n")
		if strings.TrimSpace(d) != "" {
			docs = append(docs, d)
		}
	}
	return docs
}

// apiVersions is .Capabilities.APIVersions: without a cluster, Helm answers for the
// built-in API groups only.
type apiVersions struct{}

func (apiVersions) Has(v string) bool {
	switch strings.SplitN(v, "/", 3)[0] + "/" {
	case "v1/", "apps/", "policy/", "rbac.authorization.k8s.io/", "admissionregistration.k8s.io/",
		"discovery.k8s.io/", "authentication.k8s.io/", "batch/", "networking.k8s.io/":
		return true
	}
	return false
}

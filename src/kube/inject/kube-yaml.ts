/**
 * Manifests read as kubectl reads them and written so that every reader means the same.
 *
 * kubectl decodes YAML with go-yaml v2 (through sigs.k8s.io/yaml), a YAML 1.1 reader: `0644`
 * is octal (420, the `defaultMode` people mean), `yes`/`on`/`y` are booleans, `<<` merges.
 * Go's number parsing also takes `0o644`. Unlike YAML 1.1 proper it keeps timestamps as
 * strings (a timestamp-looking value decoded into interface{} stays a string) and knows no
 * base-60 numbers (`1:30` is a string). The reader here has exactly that schema.
 *
 * The writer quotes every string that a YAML 1.1 or a YAML 1.2 reader would take for
 * something else (`"yes"`, `"0644"`, `"0o10"`, `"1:30"`), writes numbers in decimal, and
 * writes no anchors or aliases: what they referred to is written out in full, since a
 * patched copy must not change its siblings through a shared node.
 */
import { type Document, parseAllDocuments, type ScalarTag, stringify, type Tags } from 'yaml';

/** `0o644`, as Go's strconv.ParseInt(s, 0, 64) reads it (and YAML 1.2 does). */
const OCTAL_0O: ScalarTag = {
  identify: (value) => typeof value === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^[-+]?0o[0-7_]+$/,
  resolve: (text) => Number.parseInt(text.replace(/_/g, '').replace(/^([-+]?)0o/, '$1'), 8),
};

const TIMESTAMP = 'tag:yaml.org,2002:timestamp';

/** The YAML 1.1 schema as go-yaml v2 applies it to untyped values. */
function kubectlTags(tags: Tags): Tags {
  return [
    ...tags.filter((t) => {
      const tag = t as ScalarTag;
      return tag.format !== 'TIME' && tag.tag !== TIMESTAMP;
    }),
    OCTAL_0O,
  ];
}

/** The documents of a manifest, each with its parse errors (none means it parsed). */
export function readManifestDocuments(text: string): Document.Parsed[] {
  const docs = parseAllDocuments(text, { version: '1.1', customTags: kubectlTags, merge: true });
  // An empty stream (only comments) parses as an EmptyStream, which is no array.
  return Array.isArray(docs) ? docs : [];
}

/** One object as a YAML document (no `---`), meaning the same to YAML 1.1 and 1.2 readers. */
export function writeManifestObject(value: unknown): string {
  return stringify(value, {
    version: '1.1',
    compat: 'core',
    aliasDuplicateObjects: false,
    lineWidth: 0,
  });
}

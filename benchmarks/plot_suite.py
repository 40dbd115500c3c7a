"""Charts of a bench_suite.py run (its --json output), as PNG files.

    python benchmarks/plot_suite.py suite.json docs/images

Three charts, so that each answers one question:

* suite_ratios.png: how many times better than python-diskcache each
  implementation is, row by row (log scale; the scale rows at the largest
  entry count only);
* suite_scale.png: does latency grow with the number of entries;
* suite_values.png: how latency follows the value size.

bench_suite.py --charts DIR calls draw_all() directly. Needs matplotlib (not
a dependency of the package).
"""

import os
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

# One colour per implementation, the same in every chart.
COLOURS = {'diskcache': '#7f7f7f', 'diskcache_go': '#1f77b4',
           'diskcache_rs': '#d62728', 'pysciqlop_cache': '#2ca02c'}
SCALE_OPS = (('get_hit', 'get hit'), ('get_miss', 'get miss'),
             ('set', 'set (overwrite)'), ('set_new', 'set (new key)'),
             ('delete', 'delete'))


def subtitle(doc):
    machine = doc['machine']
    return '%s, %s cores, %s, %s' % (machine['cpu'], machine['cores'],
                                     machine['python'], machine['date_utc'][:10])


def impl_names(doc):
    return list(doc['impls'])


def draw_ratios(doc, target):
    """Horizontal bars: ratio to python-diskcache per row and implementation."""
    largest = max(doc['params']['sizes'])
    rows = [row for row in doc['rows'] if row['section'] != 'scale'
            or row['id'].endswith('@%d' % largest)]
    others = [name for name in impl_names(doc) if name != doc['baseline']]
    height = 0.8 / max(1, len(others))
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) * max(1, len(others)) / 1.6 + 1.6),
                           dpi=100)
    for i, name in enumerate(others):
        ys = [n + i * height for n in range(len(rows))]
        xs = [row['ratio_to_baseline'].get(name) for row in rows]
        ax.barh(ys, [x or 0 for x in xs], height, label=name, color=COLOURS.get(name))
        for y, x in zip(ys, xs):
            # A missing bar is an unsupported or failed row: say so.
            ax.annotate('%.1fx' % x if x else 'n/a', (x or 0.1, y), xytext=(2, 0),
                        textcoords='offset points', va='center', fontsize=6)
    ax.set_yticks([n + height * (len(others) - 1) / 2 for n in range(len(rows))])
    ax.set_yticklabels([row['label'] for row in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale('log')
    ax.set_xlim(left=0.1)
    ax.axvline(1, color='black', linewidth=0.8)
    ax.set_xlabel('times better than python-diskcache %s (log scale; > 1 is better)'
                  % doc['impls'][doc['baseline']]['version'])
    ax.set_title('Speed-up over python-diskcache, medians of interleaved rounds\n'
                 + subtitle(doc), fontsize=9)
    ax.grid(axis='x', which='both', alpha=0.3)
    ax.legend(fontsize=8, loc='lower right')
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)


def _series(doc, prefix, keys):
    """{impl: [median per key]} for rows '<prefix>@<key>'."""
    by_id = {row['id']: row for row in doc['rows']}
    series = {}
    for name in impl_names(doc):
        values = [by_id.get('%s@%d' % (prefix, key), {}).get('median', {}).get(name)
                  for key in keys]
        series[name] = values
    return series


def _plot_lines(ax, keys, series):
    for name, values in series.items():
        points = [(k, v) for k, v in zip(keys, values) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker='o',
                    label=name, color=COLOURS.get(name))


def _finish(fig, axes, title, target):
    """Label and legend the first panel, title the figure, write it."""
    axes[0].set_ylabel('median µs per operation (lower is better)', fontsize=8)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)


def draw_scale(doc, target):
    """Latency against entry count, one panel per operation."""
    sizes = doc['params']['sizes']
    fig, axes = plt.subplots(1, len(SCALE_OPS), figsize=(15, 3.6), dpi=100)
    for ax, (op, title) in zip(axes, SCALE_OPS):
        _plot_lines(ax, sizes, _series(doc, op, sizes))
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_title(title, fontsize=9)
        ax.set_xlabel('entries in the cache', fontsize=8)
        ax.grid(which='both', alpha=0.3)
    _finish(fig, axes, '256-byte values; ' + subtitle(doc), target)


def human_size(size):
    for unit, scale in (('MiB', 1 << 20), ('KiB', 1 << 10)):
        if size >= scale and size % scale == 0:
            return '%d %s' % (size // scale, unit)
    return '%d B' % size


def draw_values(doc, target):
    """Latency against value size, get and set."""
    sizes = doc['params']['value_sizes']
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    for ax, op in zip(axes, ('get', 'set')):
        _plot_lines(ax, sizes, _series(doc, 'value_' + op, sizes))
        ax.set_xscale('log', base=2)
        ax.set_xticks(sizes)
        ax.set_xticklabels([human_size(size) for size in sizes], fontsize=7)
        ax.minorticks_off()
        ax.set_yscale('log')
        ax.set_title(op, fontsize=9)
        ax.set_xlabel('value size', fontsize=8)
        ax.grid(which='both', alpha=0.3)
    _finish(fig, axes, 'bytes values; ' + subtitle(doc), target)


def draw_all(doc, directory):
    """Write the three charts into directory; return their paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, draw in (('suite_ratios.png', draw_ratios),
                       ('suite_scale.png', draw_scale),
                       ('suite_values.png', draw_values)):
        path = os.path.join(directory, name)
        draw(doc, path)
        paths.append(path)
    return paths


def main(argv):
    import json
    if len(argv) != 2:
        raise SystemExit('usage: plot_suite.py RESULTS.json OUTPUT_DIR')
    with open(argv[0], encoding='utf-8') as source:
        doc = json.load(source)
    for path in draw_all(doc, argv[1]):
        print(path)


if __name__ == '__main__':
    main(sys.argv[1:])

"""Draw the chart of a bench_basic.py run (its --json output) as a PNG.

    python benchmarks/bench_basic.py --json results.json
    python benchmarks/plot_basic.py results.json docs/images/bench_basic.png

Needs matplotlib (not a dependency of the package).
"""

import json
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def main(source, target):
    with open(source) as f:
        data = json.load(f)
    impls = data['params']['impls']
    ops = list(data['operations'])
    labels = [data['operations'][op] for op in ops]
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        values = [data['results'][op][impl]['median_us'] for op in ops]
        bars = ax.bar([x + i * width for x in range(len(ops))], values, width, label=impl)
        for bar, value in zip(bars, values):
            ax.annotate('%.1f' % value, (bar.get_x() + bar.get_width() / 2, value),
                        ha='center', va='bottom', fontsize=8)
    ax.set_xticks([x + width * (len(impls) - 1) / 2 for x in range(len(ops))])
    ax.set_xticklabels(labels)
    ax.set_ylabel('median latency per operation (µs, lower is better)')
    machine = data['machine']
    ax.set_title('1 KiB values, %d keys; %s, %d cores, %s, %s' % (
        data['params']['keys'], machine['cpu'], machine['cores'], machine['python'], machine['date_utc'][:10]),
        fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(target)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])

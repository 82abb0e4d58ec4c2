"""tfser: TensorFlow/Keras speech emotion recognition from every rating."""

from setuptools import find_packages, setup

setup(
    name="tfser",
    version="0.1.0",
    description="Speech emotion recognition that learns from all rater information.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["tfser", "tfser.*", "pipelines", "pipelines.*"]),
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<4",
        "tensorboard>=2.21,<2.22",
        "opensmile>=2.6,<2.7",
        "numpy>=2.0,<3",
        "pandas>=2.2,<4",
        "pyarrow>=18,<27",
        "absl-py>=2.1,<3",
        "apache-beam[tfrecord,dask]>=2.77,<2.78",  # dask: the DaskRunner (Scaling out)
        "soundfile>=0.12,<0.15",
        "soxr>=0.5,<2",
        "scikit-learn>=1.5,<2",
        "scipy>=1.13,<2",
        "statsmodels>=0.14,<0.16",
        "krippendorff>=0.8,<1",
        "matplotlib>=3.8,<4",
        "tqdm>=4.66,<5",
        "pyyaml>=6,<7",
    ],
    extras_require={"test": ["pytest>=8,<10", "pytest-xdist>=3.5,<4"]},
    entry_points={
        "console_scripts": [
            "tfser-synth=pipelines.synth:run",
            "tfser-demo=pipelines.demo:run",
            "tfser-annotate=pipelines.build_annotations:run",
            "tfser-featurize=pipelines.featurize:run",
            "tfser-train=pipelines.train:run",
            "tfser-evaluate=pipelines.evaluate:run",
            "tfser-export=pipelines.export:run",
            "tfser-predict=pipelines.predict:run",
            "tfser-compare=pipelines.compare:run",
            "tfser-reproduce=pipelines.reproduce:run",
        ],
    },
)

export HF_TOKEN=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
huggingface-cli login --token hf_xlGShZYpoWpuYvNwAFBXnsQtYjYsiVaBNtwEW
# hf_xxx is where the token goes; hf_transfer speeds up downloads
pip install "huggingface_hub[hf_transfer]"

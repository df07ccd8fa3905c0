"""PyTorch eager train step of benchmodels.TransformerBlock, for a
side-by-side measurement with codegen's BenchmarkTransformerBlock on the
same machine (Debian's python3-torch 1.13, OpenBLAS with OpenMP):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 \
        codegen/internal/benchmodels/torch/transformer_block.py

One pre-LN block over x [32,64,128]: h = x + attn(LayerNorm(x)) with
causal 4-head self-attention (q, k, v = x·Wq, x·Wk, x·Wv without biases,
softmax(q·kᵀ/√32 + mask)·v, the heads merged and projected by Wo and bo),
out = h + MLP(LayerNorm(h)) with a ReLU MLP of width 512, mean squared
error against a target, plain SGD (lr 0.01): forward, backward and the
update, as the generated TrainStep. It prints the median and the best of
several timed runs of 20 steps, in ms per step.
"""
import math
import statistics
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(1)
N, S, D, H, F = 32, 64, 128, 4, 512
DK = D // H


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(D)
        self.Wq = torch.nn.Linear(D, D, bias=False)
        self.Wk = torch.nn.Linear(D, D, bias=False)
        self.Wv = torch.nn.Linear(D, D, bias=False)
        self.Wo = torch.nn.Linear(D, D)
        self.ln2 = torch.nn.LayerNorm(D)
        self.W1 = torch.nn.Linear(D, F)
        self.W2 = torch.nn.Linear(F, D)

    def forward(self, x, mask):
        a = self.ln1(x)
        split = lambda t: t.view(N, S, H, DK).transpose(1, 2)  # [N,H,S,DK]
        q, k, v = split(self.Wq(a)), split(self.Wk(a)), split(self.Wv(a))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(DK) + mask, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(N * S, D)
        h = x + self.Wo(ctx).view(N, S, D)
        return h + self.W2(torch.relu(self.W1(self.ln2(h))))


model = Block()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(N, S, D), torch.randn(N, S, D)
mask = torch.triu(torch.full((S, S), -1e9), 1)


def step():
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(model(x, mask), y)
    loss.backward()
    opt.step()


for _ in range(5):
    step()
runs = []
for _ in range(6):
    t = time.perf_counter()
    for _ in range(20):
        step()
    runs.append((time.perf_counter() - t) / 20 * 1e3)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: "
      f"median {statistics.median(runs):.1f} ms/step, best {min(runs):.1f} ms/step")

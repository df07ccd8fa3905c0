# torch_rounds.py OUT: the tables of torch_rounds.sh OUT: per step and thread
# count, bpgen's and PyTorch's medians and the median (range) of the
# rounds' bpgen/PyTorch ratios.
import sys, json, re, statistics as st, collections
O=sys.argv[1]
def go(fn):
    d=collections.defaultdict(dict)
    for l in open(fn):
        m=re.match(r'R(\d+) Benchmark(\S+)\s+\d+\s+(\d+) ns/op',l)
        if not m: continue
        r,name,ns=int(m[1]),m[2],int(m[3])
        thr=2 if name.endswith('-2') else 1
        name=re.sub(r'-2$','',name)
        key={'TrainStep/S/passes=on':'S','TrainStep/M/passes=on':'M','TrainStep/L/passes=on':'L','TrainStepLeNet/LeNet/passes=on':'LeNet','TransformerBlock/step=passes-on':'T'}[name]
        d[(key,thr)][r]=ns/1e6
    return d
def pt(fn):
    d=collections.defaultdict(dict)
    for l in open(fn):
        m=re.match(r'R(\d+) (\{.*)',l)
        if not m: continue
        r=int(m[1]); j=json.loads(m[2])
        if 'config' in j:
            key={'S_tiny':'S','M_d2l':'M','L_deep':'L'}[j['config']]; ms=st.median(j['sec'])*1e3
        else:
            key='LeNet' if j['workload'].startswith('lenet') else 'T'; ms=j['median_s']*1e3
        d[(key,j['threads'])][r]=ms
    return d
def table(gd,pd,keys,label):
    print(f"## {label}")
    print("| step | bpgen 1 thr | PyTorch 1 thr | ratio | bpgen 2 thr | PyTorch 2 thr | ratio |")
    print("|---|---|---|---|---|---|---|")
    for k in keys:
        row=[k]
        for t in (1,2):
            g,p=gd[(k,t)],pd[(k,t)]
            rs=sorted(set(g)&set(p))
            ratios=[g[r]/p[r] for r in rs]
            row+= [f"{st.median(g.values()):.3g} ms", f"{st.median(p.values()):.3g} ms", f"{st.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}, n={len(rs)})"]
        print("| "+" | ".join(row)+" |")
g=go(O+'.go.txt'); a=go(O+'.avx2.txt'); p=pt(O+'.pt.txt'); h=pt(O+'.pth.txt'); c=pt(O+'.ptcnn.txt')
table(a,h,['S','M','L'],'AVX2 forced vs OpenBLAS Haswell')
table(g,p,['S','M','L'],'auto (the widest kernels the CPU has) vs OpenBLAS auto')
table(g,c,['LeNet','T'],'LeNet / transformer block, auto')

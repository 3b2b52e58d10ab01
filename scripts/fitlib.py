import numpy as np
from numpy.polynomial import chebyshev as C, polynomial as P
from scipy.special import ndtri
f32=np.float32
def fitpoly(f, a, b, deg, rel=True, n=6000, iters=80):
    k=np.arange(n); t=np.cos(np.pi*(k+0.5)/n); x=0.5*(a+b)+0.5*(b-a)*t
    y=f(x); w = 1/np.abs(y) if rel else np.ones_like(y)
    V=C.chebvander(t,deg); ww=np.ones(n)/n
    for it in range(iters):
        sw=np.sqrt(ww)*w
        c,*_=np.linalg.lstsq(V*sw[:,None], y*sw, rcond=None)
        e=np.abs((V@c-y)*w); ww=ww*(e/e.max()+1e-4); ww/=ww.sum()
    # convert cheb in t to monomial in x: t=(2x-(a+b))/(b-a)
    pc=C.cheb2poly(c)  # in t
    # substitute
    lin=np.array([-(a+b)/(b-a), 2/(b-a)])
    res=np.zeros(1); powt=np.ones(1)
    for ci in pc:
        res=P.polyadd(res, ci*powt); powt=P.polymul(powt,lin)
    return res, e.max()
def horner32(c,x):
    c=c.astype(f32); x=np.asarray(x,dtype=f32); r=np.full_like(x,c[-1])
    for ci in c[-2::-1]: r=(r*x+ci).astype(f32)
    return r

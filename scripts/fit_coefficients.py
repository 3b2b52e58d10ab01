from fitlib import *
from scipy.special import ndtri, ndtri_exp
def show(name, c, doc):
    vals=", ".join(str(np.float32(x)) for x in c)
    print(f"/// {doc}\npub(crate) const {name}: [f32; {len(c)}] = [{vals}];")
a,b=np.sqrt(.5)-1,np.sqrt(2)-1
c,_=fitpoly(lambda t: np.where(t==0,1,np.log1p(t)/np.where(t==0,1,t)),a,b,9); show("LOG1P",c,"ln(1+t) = t * P(t), t in [sqrt(1/2)-1, sqrt(2)-1]")
s2=(np.pi/4)**2
c,_=fitpoly(lambda s: np.sin(np.sqrt(s))/np.sqrt(s),1e-30,s2,4); show("SIN",c,"sin(x) = x * P(x^2), x in [0, pi/4]")
c,_=fitpoly(lambda s: np.cos(np.sqrt(s)),0,s2,4,rel=False); show("COS",c,"cos(x) = P(x^2), x in [0, pi/4]")
c,_=fitpoly(lambda s: ndtri(0.5+np.sqrt(s))/np.sqrt(s),1e-30,0.35**2,9); show("PROBIT_CENTRAL",c,"Phi^-1(1/2 + d) = d * P(d^2), |d| <= 0.35")
f=lambda r: -ndtri_exp(-r*r)
r0=float(np.float32(np.sqrt(np.log(2))))
c,_=fitpoly(lambda x: f(x+r0),0,2.0-r0,10,rel=False); show("PROBIT_TAIL_NEAR",c,"Q^-1(exp(-r^2)) = P(r - TAIL_NEAR_R0), r in [sqrt(ln 2), 2]")
print("pub(crate) const TAIL_NEAR_R0: f32 = %s;"%str(np.float32(r0)))
c,_=fitpoly(lambda x: f(x+2.0),0,3.0,10,rel=False); show("PROBIT_TAIL_FAR",c,"Q^-1(exp(-r^2)) = P(r - 2), r in [2, 5]")

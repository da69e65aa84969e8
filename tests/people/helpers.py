import itertools
from datetime import date

from tests.factories import region
from yiyang.people.idnumber import make_id_number
from yiyang.people.operations import ElderInput, elder_register

_seq = itertools.count(1)


def new_id(born: date = date(1948, 3, 9), male: bool = False, area: str = "331102") -> str:
    n = next(_seq) % 500
    return make_id_number(area, born, 2 * n + (1 if male else 0))


def register(actor, *, name: str = "测试长辈", township: str = "331102001", born: date = date(1948, 3, 9), **kwargs):
    data = ElderInput(
        name=name,
        id_number=kwargs.pop("id_number", None) or new_id(born),
        residence_region=region(township),
        **kwargs,
    )
    return elder_register(data=data, actor=actor)

import itertools
from datetime import date

import factory

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.homecare.models import Provider
from yiyang.people.models import Elder, ElderLink, Gender
from yiyang.regions.models import Region

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count()


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"服务中心{n}")
    region = factory.LazyFunction(lambda: region("331102"))

    @factory.post_generation
    def serves(self, create, extracted, **kwargs):
        if create:
            self.service_regions.set(Region.objects.filter(parent__code=extracted or self.region.code))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.WORKER
    display_name = factory.LazyAttribute(lambda o: o.username)
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def region_codes(self, create, extracted, **kwargs):
        if create and extracted:
            self.regions.set(Region.objects.filter(code__in=extracted))


class ElderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Elder

    name = factory.Sequence(lambda n: f"长辈{n}")
    gender = Gender.FEMALE
    birth_date = date(1945, 5, 17)
    residence_region = factory.LazyFunction(lambda: region("331102001"))
    hukou_region = factory.SelfAttribute("residence_region")


def persona(role: str, *, regions: tuple[str, ...] = (), provider: Provider | None = None, username: str | None = None, **kwargs) -> User:
    return UserFactory(username=username or f"{role}-{next(_seq)}", role=role, region_codes=list(regions), provider=provider, **kwargs)


def link(user: User, elder: Elder, relation: str = ElderLink.Relation.CHILD) -> ElderLink:
    return ElderLink.objects.create(user=user, elder=elder, relation=relation)

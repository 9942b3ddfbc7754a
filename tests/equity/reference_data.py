"""Reference data sets used by the equity tests (copied with their source).

MEXICO: per-capita GDP of the 32 Mexican states, 1940-2000, and the ``hanson98`` regimes, from
PySAL's example ``mexico.csv`` (repo ``pysal/pysal``, path ``pysal/examples/mexico/mexico.csv``;
the same file libpysal ships as ``libpysal.examples.get_path("mexico.csv")``, used by
``pysal/inequality`` ``inequality/tests/test_theil.py`` and ``test_gini.py``). BSD-3-Clause.

HEALTHEQUAL_*: the WHO ``healthequal`` (repo ``WHOequity/healthequal``) test inputs of
``tests/testthat/test-aci.R``, ``test-rci.R``, ``test-sii.R`` and ``test-rii.R``:
``set.seed(123); pop <- round(rnorm(5, 100, 40))`` = 78, 91, 162, 103, 105;
``est <- c(20, 30, 40, 50, 60)`` (per cent); ``subgroup_order <- 1:5``.
"""

import numpy as np

HEALTHEQUAL_POP = np.array([78.0, 91.0, 162.0, 103.0, 105.0])
HEALTHEQUAL_EST = np.array([20.0, 30.0, 40.0, 50.0, 60.0])
HEALTHEQUAL_ORDER = np.array([1.0, 2.0, 3.0, 4.0, 5.0])

MEXICO_DECADES = (1940, 1950, 1960, 1970, 1980, 1990, 2000)
# columns: pcgdp1940 .. pcgdp2000, hanson98
_MEXICO_ROWS = """
Aguascalientes 10384 6234 8714 16078 21022 20787 27782 2
Baja_California 22361 20977 17865 25321 29283 26839 29855 1
Baja_California_Sur 9573 16013 16707 24384 29038 25842 26103 2
Campeche 3758 4929 5925 10274 12166 51123 36163 5
Chiapas 2934 4138 5280 7015 16200 8637 8684 5
Chihuahua 8578 13997 16265 19178 23399 25332 30735 1
Coahuila 8537 9673 12318 20562 25688 26084 28460 1
Colima 6909 6049 6036 12551 17427 18313 21358 3
Distrito_Federal 17816 17119 23174 32386 42028 43810 54349 4
Durango 12132 8859 9323 12700 16726 17353 17379 2
Guanajuato 4359 5686 8209 11635 13864 13607 15585 3
Guerrero 2181 3629 4991 6497 8727 9084 11820 5
Hidalgo 4414 5194 6399 7767 12391 13091 12348 3
Jalisco 5309 8232 9953 16288 20659 20133 21610 3
Mexico 3408 4972 9053 17164 20165 18547 16322 4
Michoacan 3327 5272 5244 8109 11206 10980 11838 3
Morelos 6936 8962 10499 13892 16513 17701 18170 3
Nayarit 4836 7515 7621 10880 13354 12757 11478 2
Nuevo_Leon 9073 11490 20117 28206 34856 34726 38672 1
Oaxaca 1892 4538 4140 5230 7730 8465 9010 5
Puebla 3569 6415 6542 9775 13374 11895 15685 3
Quertaro 11016 5560 7110 14073 20088 22441 26149 3
Quintana_Roo 21965 28747 9677 17046 26695 25049 33442 5
San_Luis_Potosi 4372 7533 6440 9721 12691 15436 15866 2
Sinaloa 4840 6663 9613 14477 15312 15823 15242 2
Sonora 6399 10345 12134 22662 23181 24784 24068 1
Tabasco 2459 3857 6494 9367 42361 16055 13360 5
Tamaulipas 7508 8536 8383 17128 21937 19983 23546 1
Tlaxcala 3605 4178 4357 6245 9882 10339 11701 3
Veracruz 5203 10143 11404 12240 14252 13796 12191 3
Yucatan 7990 8428 10067 11665 15239 13979 17509 5
Zacatecas 3734 6435 5821 7426 8876 11656 11130 2
"""
_parsed = [line.split() for line in _MEXICO_ROWS.strip().splitlines()]
MEXICO_STATES = [row[0] for row in _parsed]
MEXICO_PCGDP = np.array([[float(v) for v in row[1:8]] for row in _parsed])  # shape (32, 7)
MEXICO_HANSON98 = np.array([int(row[8]) for row in _parsed])

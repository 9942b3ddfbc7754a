{#- Lists (DuckDB LIST, Spark ARRAY), for the hour and weekday profiles of adoption_school.
    make_list(items): a list of SQL expressions, e.g. make_list(['a', 'b']) -> [a, b] / array(a, b).
    zeros_list(n): n BIGINT zeros. null_list(type): a NULL list of that element type. -#}

{% macro make_list(items) -%}
    {{ return(adapter.dispatch('make_list', 'observatoire')(items)) }}
{%- endmacro %}

{% macro duckdb__make_list(items) -%}
    [{{ items | join(', ') }}]
{%- endmacro %}

{% macro spark__make_list(items) -%}
    array({{ items | join(', ') }})
{%- endmacro %}


{% macro zeros_list(n) -%}
    {{ make_list(['cast(0 as bigint)'] * n) }}
{%- endmacro %}


{% macro null_list(element_type) -%}
    {{ return(adapter.dispatch('null_list', 'observatoire')(element_type)) }}
{%- endmacro %}

{% macro duckdb__null_list(element_type) -%}
    cast(null as {{ element_type }}[])
{%- endmacro %}

{% macro spark__null_list(element_type) -%}
    cast(null as array<{{ element_type }}>)
{%- endmacro %}
